CREATE TABLE "dci_subscriptions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"client_id" text NOT NULL,
	"sender_id" text NOT NULL,
	"reference_id" text NOT NULL,
	"reg_type" text,
	"event" text NOT NULL,
	"entity" text NOT NULL,
	"notify_record_type" text NOT NULL,
	"filter_type" text NOT NULL,
	"filter" jsonb NOT NULL,
	"starts_at" timestamp with time zone,
	"ends_at" timestamp with time zone,
	"frequency" text,
	"locale" text,
	"status" text DEFAULT 'subscribe' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"unsubscribed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "registry_changes" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "registry_changes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"entity" text NOT NULL,
	"entity_id" uuid NOT NULL,
	"event" text NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dci_transactions" ADD COLUMN "callback_url" text;--> statement-breakpoint
ALTER TABLE "dci_transactions" ADD COLUMN "callback_status" text;--> statement-breakpoint
ALTER TABLE "dci_transactions" ADD COLUMN "callback_attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "dci_transactions" ADD COLUMN "callback_error" text;--> statement-breakpoint
ALTER TABLE "dci_transactions" ADD COLUMN "callback_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "dci_subscriptions_active_idx" ON "dci_subscriptions" USING btree ("event","entity") WHERE status = 'subscribe';