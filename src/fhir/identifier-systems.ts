import { IDENTIFIER_SYSTEM } from './canonical.js';

/**
 * Maps registry identifier types (NIN, BIRTH_REG_NO …) to FHIR `Identifier.system` URIs and back. A type with an
 * official URI configured (HUB_FHIR_IDENTIFIER_SYSTEMS) uses it; any other gets the hub's own
 * `…/sid/<type>` URI, so every identifier we emit has a system and every system we emit can be searched.
 */
export class IdentifierSystems {
  private readonly typeBySystem = new Map<string, string>();

  constructor(private readonly configured: Record<string, string>) {
    for (const [type, system] of Object.entries(configured)) this.typeBySystem.set(system, type);
  }

  systemOf(type: string): string {
    return this.configured[type] ?? IDENTIFIER_SYSTEM.personIdentifier(type);
  }

  /** The registry type a system names, or undefined for a system the hub does not know. */
  typeOf(system: string): string | undefined {
    const configured = this.typeBySystem.get(system);
    if (configured) return configured;
    const prefix = IDENTIFIER_SYSTEM.personIdentifier('');
    if (!system.startsWith(prefix)) return undefined;
    const type = system.slice(prefix.length).toUpperCase().replaceAll('-', '_');
    // A type with a configured URI is known only by that URI, so one identifier has one system.
    return /^[A-Z][A-Z0-9_]{0,31}$/.test(type) && this.configured[type] === undefined ? type : undefined;
  }
}
