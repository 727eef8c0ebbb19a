ALTER TABLE "signing_keys" ADD COLUMN "use" text DEFAULT 'sig' NOT NULL;--> statement-breakpoint
ALTER TABLE "dci_subscriptions" ADD COLUMN "message_encrypted" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "dci_transactions" ADD COLUMN "message_encrypted" boolean DEFAULT false NOT NULL;