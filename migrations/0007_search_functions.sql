-- Name search ignores case and accents (Désiré = desire). unaccent() is only STABLE (its dictionary could change),
-- so it cannot appear in an index; this wrapper pins the dictionary and is declared IMMUTABLE, which makes
-- expression and trigram indexes on normalised names possible. Schema-qualified so it works whatever search_path.
CREATE FUNCTION hub_normalise(text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;
