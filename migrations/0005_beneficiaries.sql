CREATE TABLE "beneficiaries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"programme_id" uuid NOT NULL,
	"subject_id" uuid NOT NULL,
	"status" text NOT NULL,
	"score" numeric,
	"reason" text,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "beneficiaries_programme_subject_key" UNIQUE("programme_id","subject_id"),
	CONSTRAINT "beneficiaries_status_check" CHECK ("beneficiaries"."status" IN ('POTENTIAL', 'ACTIVE', 'SUSPENDED', 'GRADUATED'))
);
--> statement-breakpoint
CREATE TABLE "beneficiary_events" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"beneficiary_id" uuid NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"reason" text NOT NULL,
	"actor" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "beneficiaries" ADD CONSTRAINT "beneficiaries_programme_id_programmes_id_fk" FOREIGN KEY ("programme_id") REFERENCES "public"."programmes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "beneficiary_events" ADD CONSTRAINT "beneficiary_events_beneficiary_id_beneficiaries_id_fk" FOREIGN KEY ("beneficiary_id") REFERENCES "public"."beneficiaries"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "beneficiaries_subject_idx" ON "beneficiaries" USING btree ("subject_id");--> statement-breakpoint
CREATE INDEX "beneficiaries_programme_status_idx" ON "beneficiaries" USING btree ("programme_id","status");--> statement-breakpoint
CREATE INDEX "beneficiary_events_beneficiary_idx" ON "beneficiary_events" USING btree ("beneficiary_id");