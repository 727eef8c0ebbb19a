CREATE TABLE "civil_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"event_type" text NOT NULL,
	"registration_number" text NOT NULL,
	"source" text DEFAULT 'local' NOT NULL,
	"event_date" date NOT NULL,
	"registration_date" date NOT NULL,
	"place_id" uuid,
	"subject_id" uuid NOT NULL,
	"parties" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"payload" jsonb,
	"recorded_by" text NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "civil_events_registration_key" UNIQUE("source","event_type","registration_number"),
	CONSTRAINT "civil_events_event_type_check" CHECK ("civil_events"."event_type" IN ('birth', 'death', 'fetal_death', 'marriage', 'divorce', 'adoption'))
);
--> statement-breakpoint
CREATE TABLE "registry_subscriptions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"registry" text NOT NULL,
	"event_type" text NOT NULL,
	"transaction_id" text NOT NULL,
	"reference_id" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"code" text,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "registry_subscriptions_reference_id_unique" UNIQUE("reference_id")
);
--> statement-breakpoint
CREATE TABLE "review_tasks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"civil_event_id" uuid,
	"reason" text NOT NULL,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dci_subscriptions" ADD COLUMN "registry" text DEFAULT 'sr' NOT NULL;--> statement-breakpoint
ALTER TABLE "dci_transactions" ADD COLUMN "registry" text DEFAULT 'sr' NOT NULL;--> statement-breakpoint
ALTER TABLE "civil_events" ADD CONSTRAINT "civil_events_place_id_locations_id_fk" FOREIGN KEY ("place_id") REFERENCES "public"."locations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "civil_events" ADD CONSTRAINT "civil_events_subject_id_individuals_id_fk" FOREIGN KEY ("subject_id") REFERENCES "public"."individuals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_tasks" ADD CONSTRAINT "review_tasks_civil_event_id_civil_events_id_fk" FOREIGN KEY ("civil_event_id") REFERENCES "public"."civil_events"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "civil_events_subject_idx" ON "civil_events" USING btree ("subject_id","event_type");--> statement-breakpoint
CREATE INDEX "civil_events_registration_date_idx" ON "civil_events" USING btree ("event_type","registration_date");--> statement-breakpoint
CREATE INDEX "civil_events_registration_number_idx" ON "civil_events" USING btree ("registration_number");--> statement-breakpoint
CREATE INDEX "civil_events_place_idx" ON "civil_events" USING btree ("place_id");--> statement-breakpoint
CREATE INDEX "registry_subscriptions_registry_idx" ON "registry_subscriptions" USING btree ("registry","status");--> statement-breakpoint
CREATE INDEX "review_tasks_open_idx" ON "review_tasks" USING btree ("kind","created_at") WHERE status = 'open';