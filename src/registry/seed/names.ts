/**
 * Vocabulary of a Burundi-like registry. Province names are Burundi's 18 provinces (before the 2025 reform);
 * communes and collines get names built from Kirundi syllables. Some given names carry accents, as French names in
 * Burundi do, so accent-insensitive search has something to find.
 */
export const PROVINCES = [
  'Bubanza', 'Bujumbura Mairie', 'Bujumbura Rural', 'Bururi', 'Cankuzo', 'Cibitoke', 'Gitega', 'Karuzi', 'Kayanza',
  'Kirundo', 'Makamba', 'Muramvya', 'Muyinga', 'Mwaro', 'Ngozi', 'Rumonge', 'Rutana', 'Ruyigi',
] as const;

export const PLACE_SYLLABLES = ['bu', 'ga', 'ki', 'ru', 'ma', 'nya', 'mu', 'nge', 'ka', 'ta', 'zi', 'ho', 'rwa', 'ba', 'mba', 'ngo', 'shi', 'tu'];

export const MALE_NAMES = [
  'Jean', 'Pierre', 'Emmanuel', 'Désiré', 'Jérôme', 'Frédéric', 'Eric', 'Claude', 'Pascal', 'Léonidas', 'Thierry',
  'Dieudonné', 'Révérien', 'Innocent', 'Gédéon', 'Aimé', 'Egide', 'Fabrice', 'Patrick', 'Ferdinand', 'Evariste',
  'Salvator', 'Audace', 'Bosco', 'Joseph', 'Gervais', 'Cyprien', 'Olivier', 'Japhet', 'Prosper',
];

export const FEMALE_NAMES = [
  'Marie', 'Claudine', 'Aline', 'Hélène', 'Béatrice', 'Espérance', 'Goreth', 'Francine', 'Jeanine', 'Annonciate',
  'Spès', 'Immaculée', 'Générose', 'Chantal', 'Sandrine', 'Diane', 'Josiane', 'Odette', 'Scholastique', 'Nadège',
  'Bélyse', 'Pélagie', 'Consolata', 'Carine', 'Ange', 'Joséphine', 'Médiatrice', 'Renilde', 'Gloriose', 'Agnès',
];

/** Kirundi family names; in Burundi children usually get their own, not their father's. */
export const FAMILY_NAMES = [
  'Ndayishimiye', 'Niyonzima', 'Irakoze', 'Nshimirimana', 'Hakizimana', 'Ndikumana', 'Niyonkuru', 'Bizimana',
  'Nkurunziza', 'Habonimana', 'Iradukunda', 'Niyongabo', 'Ntakirutimana', 'Manirakiza', 'Nduwimana', 'Havyarimana',
  'Ndayizeye', 'Nibizi', 'Kwizera', 'Ininahazwe', 'Uwimana', 'Nizigiyimana', 'Ciza', 'Butoyi', 'Ndabashinze',
  'Sindayigaya', 'Nimbona', 'Bigirimana', 'Minani', 'Ntahomvukiye', 'Hatungimana', 'Nsengiyumva', 'Barankitse',
  'Ndihokubwayo', 'Nahimana', 'Nzeyimana', 'Gahungu', 'Ntirampeba', 'Mpawenayo', 'Buconyori',
];

export const ROOF_MATERIALS = ['thatch', 'metal_sheet', 'clay_tiles', 'concrete', 'plastic_sheet'] as const;
export const WALL_MATERIALS = ['mud_brick', 'burnt_brick', 'wattle_and_daub', 'cement_block', 'wood'] as const;
export const WATER_SOURCES = ['piped_dwelling', 'public_tap', 'protected_well', 'protected_spring', 'unprotected_spring', 'surface_water'] as const;
export const TOILETS = ['none', 'pit_latrine', 'improved_latrine', 'flush'] as const;
export const COOKING_FUELS = ['firewood', 'charcoal', 'gas', 'electricity'] as const;
export const ASSETS = ['radio', 'mobile_phone', 'bicycle', 'goats', 'cattle', 'solar_panel', 'motorcycle', 'television'] as const;
export const EDUCATION = ['none', 'primary', 'secondary', 'tertiary'] as const;
