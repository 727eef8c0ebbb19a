CREATE TABLE "payment_cycles" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"plan_id" uuid NOT NULL,
	"programme_id" uuid NOT NULL,
	"period_start" date NOT NULL,
	"period_end" date NOT NULL,
	"status" text DEFAULT 'DRAFT' NOT NULL,
	"currency" text,
	"payment_count" integer DEFAULT 0 NOT NULL,
	"total_amount" numeric DEFAULT '0' NOT NULL,
	"payable_count" integer DEFAULT 0 NOT NULL,
	"payable_amount" numeric DEFAULT '0' NOT NULL,
	"generated_by" text NOT NULL,
	"generated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"approved_by" text,
	"approved_at" timestamp with time zone,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "payment_cycles_plan_period_key" UNIQUE("plan_id","period_start"),
	CONSTRAINT "payment_cycles_status_check" CHECK ("payment_cycles"."status" IN ('DRAFT', 'APPROVED', 'SENT'))
);
--> statement-breakpoint
CREATE TABLE "payment_plans" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"programme_id" uuid NOT NULL,
	"name" text NOT NULL,
	"amount" text NOT NULL,
	"parameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"condition" text,
	"location_id" uuid,
	"frequency" text NOT NULL,
	"start_date" date NOT NULL,
	"end_date" date NOT NULL,
	"gateway" text NOT NULL,
	"conditional" boolean DEFAULT false NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "payment_plans_frequency_check" CHECK ("payment_plans"."frequency" IN ('once', 'monthly', 'bimonthly', 'quarterly', 'semiannual', 'annual')),
	CONSTRAINT "payment_plans_period_check" CHECK ("payment_plans"."end_date" >= "payment_plans"."start_date")
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"cycle_id" uuid NOT NULL,
	"beneficiary_id" uuid NOT NULL,
	"subject_id" uuid NOT NULL,
	"location_id" uuid,
	"amount" numeric NOT NULL,
	"currency" text,
	"status" text DEFAULT 'PENDING' NOT NULL,
	"reference_id" text NOT NULL,
	"compliant" boolean,
	"compliance_note" text,
	"gateway_reference" text,
	"reason" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"sent_at" timestamp with time zone,
	"settled_at" timestamp with time zone,
	CONSTRAINT "payments_cycle_beneficiary_key" UNIQUE("cycle_id","beneficiary_id"),
	CONSTRAINT "payments_reference_key" UNIQUE("reference_id"),
	CONSTRAINT "payments_status_check" CHECK ("payments"."status" IN ('PENDING', 'SENT', 'PAID', 'FAILED')),
	CONSTRAINT "payments_amount_check" CHECK ("payments"."amount" > 0)
);
--> statement-breakpoint
ALTER TABLE "payment_cycles" ADD CONSTRAINT "payment_cycles_plan_id_payment_plans_id_fk" FOREIGN KEY ("plan_id") REFERENCES "public"."payment_plans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_cycles" ADD CONSTRAINT "payment_cycles_programme_id_programmes_id_fk" FOREIGN KEY ("programme_id") REFERENCES "public"."programmes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_plans" ADD CONSTRAINT "payment_plans_programme_id_programmes_id_fk" FOREIGN KEY ("programme_id") REFERENCES "public"."programmes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_plans" ADD CONSTRAINT "payment_plans_location_id_locations_id_fk" FOREIGN KEY ("location_id") REFERENCES "public"."locations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_cycle_id_payment_cycles_id_fk" FOREIGN KEY ("cycle_id") REFERENCES "public"."payment_cycles"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_beneficiary_id_beneficiaries_id_fk" FOREIGN KEY ("beneficiary_id") REFERENCES "public"."beneficiaries"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "payment_cycles_programme_idx" ON "payment_cycles" USING btree ("programme_id");--> statement-breakpoint
CREATE INDEX "payment_plans_programme_idx" ON "payment_plans" USING btree ("programme_id");--> statement-breakpoint
CREATE INDEX "payments_cycle_status_idx" ON "payments" USING btree ("cycle_id","status");--> statement-breakpoint
CREATE INDEX "payments_subject_idx" ON "payments" USING btree ("subject_id");