CREATE TABLE "dci_transactions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"correlation_id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"client_id" text NOT NULL,
	"sender_id" text NOT NULL,
	"message_id" text NOT NULL,
	"transaction_id" text,
	"action" text NOT NULL,
	"status" text NOT NULL,
	"status_reason_code" text,
	"consent" jsonb,
	"record_count" integer DEFAULT 0 NOT NULL,
	"response" jsonb,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "dci_transactions_correlation_id_unique" UNIQUE("correlation_id"),
	CONSTRAINT "dci_transactions_message_key" UNIQUE("sender_id","message_id")
);
--> statement-breakpoint
ALTER TABLE "clients" ADD COLUMN "dci_sender_id" text;--> statement-breakpoint
ALTER TABLE "clients" ADD COLUMN "dci_callback_url" text;--> statement-breakpoint
ALTER TABLE "clients" ADD COLUMN "dci_jwks_url" text;--> statement-breakpoint
ALTER TABLE "clients" ADD COLUMN "dci_signature_policy" text;--> statement-breakpoint
CREATE INDEX "dci_transactions_transaction_idx" ON "dci_transactions" USING btree ("sender_id","transaction_id");--> statement-breakpoint
ALTER TABLE "clients" ADD CONSTRAINT "clients_dci_sender_id_unique" UNIQUE("dci_sender_id");