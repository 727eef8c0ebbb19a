CREATE TABLE "task_items" (
	"task_id" uuid NOT NULL,
	"beneficiary_id" uuid NOT NULL,
	"from_status" text NOT NULL,
	"outcome" text,
	"found_status" text,
	CONSTRAINT "task_items_pkey" PRIMARY KEY("task_id","beneficiary_id"),
	CONSTRAINT "task_items_outcome_check" CHECK ("task_items"."outcome" IN ('applied', 'status_changed', 'deceased'))
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" text NOT NULL,
	"programme_id" uuid NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"maker" text NOT NULL,
	"required_levels" integer NOT NULL,
	"decisions" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_at" timestamp with time zone,
	"version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "tasks_status_check" CHECK ("tasks"."status" IN ('pending', 'applied', 'failed', 'rejected')),
	CONSTRAINT "tasks_kind_check" CHECK ("tasks"."kind" IN ('enrolment', 'status_change', 'death_suspension')),
	CONSTRAINT "tasks_levels_check" CHECK ("tasks"."required_levels" BETWEEN 1 AND 5)
);
--> statement-breakpoint
ALTER TABLE "beneficiary_events" ADD COLUMN "task_id" uuid;--> statement-breakpoint
ALTER TABLE "programmes" ADD COLUMN "approvals" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "programmes" ADD COLUMN "on_member_death" text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "task_items" ADD CONSTRAINT "task_items_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_items" ADD CONSTRAINT "task_items_beneficiary_id_beneficiaries_id_fk" FOREIGN KEY ("beneficiary_id") REFERENCES "public"."beneficiaries"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_programme_id_programmes_id_fk" FOREIGN KEY ("programme_id") REFERENCES "public"."programmes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "task_items_beneficiary_idx" ON "task_items" USING btree ("beneficiary_id");--> statement-breakpoint
CREATE INDEX "tasks_status_idx" ON "tasks" USING btree ("status","id");--> statement-breakpoint
CREATE INDEX "tasks_programme_idx" ON "tasks" USING btree ("programme_id");--> statement-breakpoint
ALTER TABLE "programmes" ADD CONSTRAINT "programmes_on_member_death_check" CHECK ("programmes"."on_member_death" IN ('none', 'suspend_household'));