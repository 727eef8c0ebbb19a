DROP INDEX "individuals_family_given_idx";--> statement-breakpoint
DROP INDEX "individuals_given_idx";--> statement-breakpoint
CREATE INDEX "individuals_family_given_idx" ON "individuals" USING btree (hub_normalise("family_name"),hub_normalise("given_name"),"id");--> statement-breakpoint
CREATE INDEX "individuals_given_idx" ON "individuals" USING btree (hub_normalise("given_name"),"id");