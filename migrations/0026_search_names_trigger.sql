-- Every folded full name stored in individuals gets its row in search_names, in the transaction that stores it,
-- whatever writes it (API, FHIR, import, seed, merge). Statement-level with a transition table, so a bulk load adds
-- the distinct names of a batch in one statement. ON CONFLICT DO NOTHING takes no lock on a name already there.
CREATE FUNCTION hub_record_search_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_names (name)
    SELECT DISTINCT n.search_name FROM new_rows n WHERE n.search_name IS NOT NULL
    ON CONFLICT (name) DO NOTHING;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER individuals_search_names_insert AFTER INSERT ON individuals REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION hub_record_search_names();
--> statement-breakpoint
CREATE TRIGGER individuals_search_names_update AFTER UPDATE ON individuals REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION hub_record_search_names();
--> statement-breakpoint
INSERT INTO search_names (name) SELECT DISTINCT search_name FROM individuals WHERE search_name IS NOT NULL ON CONFLICT (name) DO NOTHING;
--> statement-breakpoint
-- A bulk import killed before rebuilding its indexes recorded the trigram index this replaces.
DELETE FROM deferred_indexes WHERE name = 'individuals_search_name_trgm';
