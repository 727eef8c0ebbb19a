-- New civil events feed the DCI notify outbox (for CRVS subscribers) in the transaction that records them, as
-- registry changes do (0010): one change per event, for its subject, named by the event type; nothing is written
-- while no one is subscribed to vital events.
CREATE FUNCTION hub_record_civil_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM dci_subscriptions WHERE status = 'subscribe' AND registry = 'crvs') THEN
    RETURN NULL;
  END IF;
  INSERT INTO registry_changes (entity, entity_id, event)
    SELECT 'individual', n.subject_id, n.event_type FROM new_rows n;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER civil_events_changes_insert AFTER INSERT ON civil_events REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION hub_record_civil_events();
