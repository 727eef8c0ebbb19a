-- Picks the audit chain an entry is appended to, locks it until the transaction ends, and answers the hash of its
-- last entry (NULL for an empty chain). The first chain not locked by another transaction is taken, so writers only
-- wait when every chain is busy; a transaction that already holds a chain finds it free again (advisory locks are
-- re-entrant), so it never waits while holding one, and waiting writers cannot deadlock. The head is read after the
-- lock, by a statement of this VOLATILE function, so it sees the entry the previous holder committed.
CREATE FUNCTION audit_chain_head(chains integer, OUT chain integer, OUT hash text) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  chain := NULL;
  FOR lane IN 0 .. chains - 1 LOOP
    IF pg_try_advisory_xact_lock(7244002, lane) THEN
      chain := lane;
      EXIT;
    END IF;
  END LOOP;
  IF chain IS NULL THEN
    chain := floor(random() * chains)::integer;
    PERFORM pg_advisory_xact_lock(7244002, chain);
  END IF;
  SELECT a.hash INTO hash FROM audit_log a WHERE a.chain = audit_chain_head.chain ORDER BY a.seq DESC LIMIT 1;
END;
$$;
