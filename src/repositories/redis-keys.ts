/** Every Redis key the service writes, under one prefix so tests and tenants never collide. */
export function redisKeys(prefix: string) {
  return {
    station: (id: string) => `${prefix}:station:${id}`,
    stations: `${prefix}:stations`,
    /** A station's packets, scored by when they were opened. */
    stationPackets: (id: string) => `${prefix}:station:${id}:packets`,
    /** The service catalogue: slug → service. */
    services: `${prefix}:services`,
    registrar: (id: string) => `${prefix}:registrar:${id}`,
    registrars: `${prefix}:registrars`,
    tokenOwner: (tokenHash: string) => `${prefix}:token:${tokenHash}`,
    /** A browser session, by the hash of its cookie value. */
    session: (idHash: string) => `${prefix}:session:${idHash}`,
    packet: (id: string) => `${prefix}:packet:${id}`,
    packetPages: (id: string) => `${prefix}:packet:${id}:pages`,
    /** Scanner documents received for a packet: SHA-256 → the document and the page numbers it gave. */
    packetDocuments: (id: string) => `${prefix}:packet:${id}:documents`,
    packets: `${prefix}:packets`,
    /** Packets not yet decided: where the reconciler looks for work without a way forward. */
    activePackets: `${prefix}:packets:active`,
    /** Per page number, the last run handed out (domain/jobs.ts). */
    pageRuns: (id: string) => `${prefix}:packet:${id}:runs`,
    /** What the reconciler repaired on a packet, newest last. */
    packetRepairs: (id: string) => `${prefix}:packet:${id}:repairs`,
    trackingCode: (code: string) => `${prefix}:track:${code}`,
    /** Ready packets waiting for a registrar, scored by the time they became ready. */
    readyQueue: `${prefix}:dispatch:ready`,
    packetExclusions: (id: string) => `${prefix}:packet:${id}:excluded`,
    /** Administrators setting registrars away or removing them, with their reasons (JSON, oldest first). */
    adminActions: `${prefix}:registrars:admin-actions`,
    dispatchWake: `${prefix}:dispatch:wake`,
    protocol: `${prefix}:protocol`,
    protocolHead: `${prefix}:protocol:head`,
    // Named anew when the mirror moved under the deployment's folder: older deployments copy their whole protocol there.
    protocolMirrored: `${prefix}:protocol:mirrored-scoped`,
    /** Signed checkpoints by tree size (JSON), and their sizes in order. */
    checkpoints: `${prefix}:protocol:checkpoints`,
    checkpointSizes: `${prefix}:protocol:checkpoint-sizes`,
    /** Randomness epochs: their secrets (hex) and signed announcements (JSON), by epoch number. */
    epochSecrets: `${prefix}:protocol:epoch-secrets`,
    epochAnnouncements: `${prefix}:protocol:epoch-announcements`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;
