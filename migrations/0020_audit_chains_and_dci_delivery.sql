ALTER TABLE "audit_log" ADD COLUMN "chain" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "dci_transactions" ADD COLUMN "callback_body" jsonb;--> statement-breakpoint
CREATE INDEX "audit_log_chain_idx" ON "audit_log" USING btree ("chain","seq");--> statement-breakpoint
CREATE INDEX "dci_transactions_received_idx" ON "dci_transactions" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "dci_transactions_delivery_idx" ON "dci_transactions" USING btree ("callback_status","received_at","id") WHERE callback_status IS NOT NULL;