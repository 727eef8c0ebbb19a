-- Registry changes feed the DCI notify outbox, in the transaction that makes them. Statement-level triggers with
-- transition tables keep bulk loads set-based, and nothing is written while no one is subscribed.
CREATE FUNCTION hub_record_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM dci_subscriptions WHERE status = 'subscribe') THEN
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME = 'group_members' THEN
    IF TG_OP = 'INSERT' THEN
      INSERT INTO registry_changes (entity, entity_id, event)
        SELECT 'group', n.group_id, 'LINK' FROM new_rows n
        UNION ALL SELECT 'individual', n.individual_id, 'LINK' FROM new_rows n;
    ELSE
      INSERT INTO registry_changes (entity, entity_id, event)
        SELECT 'group', n.group_id, 'UNLINK' FROM new_rows n JOIN old_rows o ON o.id = n.id
          WHERE o.end_date IS NULL AND n.end_date IS NOT NULL
        UNION ALL SELECT 'individual', n.individual_id, 'UNLINK' FROM new_rows n JOIN old_rows o ON o.id = n.id
          WHERE o.end_date IS NULL AND n.end_date IS NOT NULL;
    END IF;
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO registry_changes (entity, entity_id, event)
      SELECT TG_ARGV[0], n.id, 'REGISTER' FROM new_rows n;
  ELSE
    INSERT INTO registry_changes (entity, entity_id, event)
      SELECT TG_ARGV[0], n.id,
             CASE WHEN o.deleted_at IS NULL AND n.deleted_at IS NOT NULL THEN 'DELETE' ELSE 'UPDATE' END
        FROM new_rows n JOIN old_rows o ON o.id = n.id;
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER individuals_changes_insert AFTER INSERT ON individuals REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION hub_record_changes('individual');
--> statement-breakpoint
CREATE TRIGGER individuals_changes_update AFTER UPDATE ON individuals REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION hub_record_changes('individual');
--> statement-breakpoint
CREATE TRIGGER groups_changes_insert AFTER INSERT ON groups REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION hub_record_changes('group');
--> statement-breakpoint
CREATE TRIGGER groups_changes_update AFTER UPDATE ON groups REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION hub_record_changes('group');
--> statement-breakpoint
CREATE TRIGGER group_members_changes_insert AFTER INSERT ON group_members REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION hub_record_changes('group_member');
--> statement-breakpoint
CREATE TRIGGER group_members_changes_update AFTER UPDATE ON group_members REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION hub_record_changes('group_member');
