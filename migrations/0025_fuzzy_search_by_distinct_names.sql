CREATE TABLE "search_names" (
	"name" text PRIMARY KEY NOT NULL
);
--> statement-breakpoint
DROP INDEX IF EXISTS "individuals_search_name_trgm";--> statement-breakpoint
CREATE INDEX "search_names_trgm" ON "search_names" USING gin ("name" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "individuals_search_name_idx" ON "individuals" USING btree ("search_name","id") WHERE "individuals"."deleted_at" IS NULL;