CREATE TABLE "record_versions" (
	"entity_type" text NOT NULL,
	"entity_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"snapshot" jsonb NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"actor" text NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "record_versions_entity_type_entity_id_version_pk" PRIMARY KEY("entity_type","entity_id","version")
);
