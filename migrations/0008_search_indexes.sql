CREATE INDEX "identifiers_value_idx" ON "identifiers" USING btree ("value");--> statement-breakpoint
CREATE INDEX "individuals_family_given_idx" ON "individuals" USING btree (hub_normalise("family_name"),hub_normalise("given_name"));--> statement-breakpoint
CREATE INDEX "individuals_given_idx" ON "individuals" USING btree (hub_normalise("given_name"));--> statement-breakpoint
CREATE INDEX "individuals_name_trgm" ON "individuals" USING gin (hub_normalise("given_name" || ' ' || "family_name") gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "individuals_birth_date_idx" ON "individuals" USING btree ("birth_date");--> statement-breakpoint
CREATE INDEX "individuals_attributes_gin" ON "individuals" USING gin ("attributes" jsonb_path_ops);--> statement-breakpoint
CREATE INDEX "groups_attributes_gin" ON "groups" USING gin ("attributes" jsonb_path_ops);