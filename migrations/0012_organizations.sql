CREATE TABLE "organizations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"type" text NOT NULL,
	"name" text NOT NULL,
	"identifiers" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"contact" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "organizations_type_check" CHECK ("organizations"."type" IN ('programme-operator', 'payment-provider', 'government'))
);
--> statement-breakpoint
ALTER TABLE "programmes" ADD COLUMN "operator_id" uuid;--> statement-breakpoint
CREATE INDEX "organizations_identifiers_gin" ON "organizations" USING gin ("identifiers" jsonb_path_ops);--> statement-breakpoint
ALTER TABLE "programmes" ADD CONSTRAINT "programmes_operator_id_organizations_id_fk" FOREIGN KEY ("operator_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "individuals_updated_idx" ON "individuals" USING btree ("updated_at","id");--> statement-breakpoint
CREATE INDEX "groups_updated_idx" ON "groups" USING btree ("updated_at","id");--> statement-breakpoint
CREATE INDEX "beneficiaries_updated_idx" ON "beneficiaries" USING btree ("updated_at","id");