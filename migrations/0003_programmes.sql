CREATE TABLE "attribute_definitions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"subject" text NOT NULL,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"label" text,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "attribute_definitions_subject_name_key" UNIQUE("subject","name"),
	CONSTRAINT "attribute_definitions_subject_check" CHECK ("attribute_definitions"."subject" IN ('individual', 'group')),
	CONSTRAINT "attribute_definitions_type_check" CHECK ("attribute_definitions"."type" IN ('number', 'boolean', 'text'))
);
--> statement-breakpoint
CREATE TABLE "programmes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"subject" text NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"eligibility" text,
	"score" text,
	"location_id" uuid,
	"quota" integer,
	"budget" numeric,
	"currency" text,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "programmes_code_unique" UNIQUE("code"),
	CONSTRAINT "programmes_subject_check" CHECK ("programmes"."subject" IN ('individual', 'group')),
	CONSTRAINT "programmes_status_check" CHECK ("programmes"."status" IN ('draft', 'active', 'closed'))
);
--> statement-breakpoint
ALTER TABLE "programmes" ADD CONSTRAINT "programmes_location_id_locations_id_fk" FOREIGN KEY ("location_id") REFERENCES "public"."locations"("id") ON DELETE no action ON UPDATE no action;