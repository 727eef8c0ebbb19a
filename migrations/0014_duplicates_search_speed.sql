CREATE TABLE "duplicate_candidates" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"key" text NOT NULL,
	"kind" text NOT NULL,
	"individual_id" uuid NOT NULL,
	"other_id" uuid,
	"score" integer NOT NULL,
	"reasons" jsonb NOT NULL,
	"incoming" jsonb,
	"status" text DEFAULT 'open' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	CONSTRAINT "duplicate_candidates_key_unique" UNIQUE("key"),
	CONSTRAINT "duplicate_candidates_kind_check" CHECK ("duplicate_candidates"."kind" IN ('probable', 'identifier')),
	CONSTRAINT "duplicate_candidates_status_check" CHECK ("duplicate_candidates"."status" IN ('open', 'dismissed', 'merged')),
	CONSTRAINT "duplicate_candidates_pair_check" CHECK (("duplicate_candidates"."kind" = 'probable') = ("duplicate_candidates"."other_id" IS NOT NULL))
);
--> statement-breakpoint
CREATE TABLE "deferred_indexes" (
	"name" text PRIMARY KEY NOT NULL,
	"definition" text NOT NULL,
	"dropped_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
DROP INDEX "individuals_location_idx";--> statement-breakpoint
DROP INDEX "individuals_name_trgm";--> statement-breakpoint
ALTER TABLE "individuals" ADD COLUMN "merged_into" uuid;--> statement-breakpoint
ALTER TABLE "individuals" ADD COLUMN "search_name" text GENERATED ALWAYS AS (hub_normalise(given_name || ' ' || family_name)) STORED;--> statement-breakpoint
ALTER TABLE "duplicate_candidates" ADD CONSTRAINT "duplicate_candidates_individual_id_individuals_id_fk" FOREIGN KEY ("individual_id") REFERENCES "public"."individuals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "duplicate_candidates" ADD CONSTRAINT "duplicate_candidates_other_id_individuals_id_fk" FOREIGN KEY ("other_id") REFERENCES "public"."individuals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "duplicate_candidates_queue_idx" ON "duplicate_candidates" USING btree ("status","score" DESC NULLS LAST,"id");--> statement-breakpoint
CREATE INDEX "duplicate_candidates_individual_idx" ON "duplicate_candidates" USING btree ("individual_id");--> statement-breakpoint
CREATE INDEX "duplicate_candidates_other_idx" ON "duplicate_candidates" USING btree ("other_id");--> statement-breakpoint
ALTER TABLE "individuals" ADD CONSTRAINT "individuals_merged_into_individuals_id_fk" FOREIGN KEY ("merged_into") REFERENCES "public"."individuals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "individuals_location_birth_idx" ON "individuals" USING btree ("location_id","birth_date");--> statement-breakpoint
CREATE INDEX "individuals_search_name_trgm" ON "individuals" USING gin ("search_name" gin_trgm_ops);