import { execFile } from 'node:child_process';
import { createHash, verify as cryptoVerify, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { checkExclusions } from '../../src/domain/audit-trail.js';
import {
  checkpointMessage,
  epochAnnouncementMessage,
  protocolLeaf,
  type SignedCheckpoint,
} from '../../src/domain/checkpoint.js';
import { epochOf } from '../../src/domain/committed-random.js';
import { chiSquarePValue, fairnessOf } from '../../src/domain/fairness.js';
import { verifyConsistency, verifyInclusion } from '../../src/domain/merkle.js';
import {
  type DrawEntry,
  GENESIS_HASH,
  hashEntry,
  type ProtocolEntry,
  verifyChain,
} from '../../src/domain/protocol.js';
import { connectRedis } from '../../src/infra/redis.js';
import { loadSigningIdentity } from '../../src/infra/signing-identity.js';
import { signWithIdentity } from '../../src/pipeline/plain-signature.js';
import { apiClient, errorCodeOf } from '../helpers/api-client.js';
import {
  decideAsHolder,
  dispatcherFor,
  dispatchLoopFor,
  freeRegistrars,
  makeReady,
  readyPacket,
} from '../helpers/dispatch.js';
import { TEST_ADMIN_TOKEN, useTestStack } from '../helpers/stack.js';

const run = promisify(execFile);
const AUDIT_CLI = path.resolve(import.meta.dirname, '../../src/cli/audit.ts');

const drawsOf = (entries: ProtocolEntry[]) =>
  entries.filter((entry): entry is ProtocolEntry & DrawEntry => entry.type === 'draw');

describe('uniformity', () => {
  const held = useTestStack('uniform');

  it('3 000 draws over 5 free registrars are uniform (chi-square p > 0.001)', async () => {
    const { infra } = held.stack;
    const registrars = await freeRegistrars(infra, 5);
    const dispatcher = dispatcherFor(infra);
    const counts = new Map(registrars.map((id) => [id, 0]));
    for (let i = 0; i < 3000; i++) {
      const packet = await readyPacket(infra);
      expect(await dispatcher.dispatchAll()).toBe(1);
      const assigned = (await infra.repositories.packets.get(packet.id))!;
      counts.set(assigned.registrarId!, counts.get(assigned.registrarId!)! + 1);
      const { outcome } = await infra.repositories.packets.decide(
        packet.id,
        assigned.registrarId!,
        assigned.drawSeq!,
        'approved',
        '',
      );
      expect(outcome).toBe('ok');
    }
    const chiSquare = [...counts.values()].reduce((sum, observed) => sum + (observed - 600) ** 2 / 600, 0);
    const pValue = chiSquarePValue(chiSquare, 4);
    console.log(
      `counts ${[...counts.values()].join(' ')}; chi-square ${chiSquare.toFixed(2)}, p = ${pValue.toFixed(4)}`,
    );
    expect(pValue).toBeGreaterThan(0.001);

    const report = fairnessOf(await infra.repositories.protocol.entries());
    expect(report.services[0]).toMatchObject({ service: 'land', draws: 3000, degreesOfFreedom: 4 });
    expect(report.services[0]!.pValue!).toBeCloseTo(pValue, 6);
    // 3000 draws, 3000 decisions, and the 5 registrars turning free.
    expect(verifyChain(await infra.repositories.protocol.entries())).toMatchObject({
      ok: true,
      entries: 6005,
    });
  }, 120_000);
});

describe('races', () => {
  const held = useTestStack('races');

  it('three dispatchers, 200 packets, 10 registrars flipping: each packet assigned once, nobody holds two', async () => {
    const { infra } = held.stack;
    const registrars = await freeRegistrars(infra, 10);
    const connections: Redis[] = [];
    const dispatchers: Dispatcher[] = [];
    const loops: Promise<void>[] = [];
    for (let i = 0; i < 3; i++) {
      const blocking = await connectRedis(infra.redisUrl, 'blocking');
      const dispatcher = dispatchLoopFor(infra);
      connections.push(blocking);
      dispatchers.push(dispatcher);
      loops.push(dispatcher.run(blocking));
    }
    const packets = await Promise.all(Array.from({ length: 200 }, () => readyPacket(infra)));

    // Registrars decide what they get, and now and then go away for a moment and come back.
    let decided = 0;
    const deadline = Date.now() + 90_000;
    while (decided < packets.length && Date.now() < deadline) {
      await Promise.all(
        registrars.map(async (id, i) => {
          const registrar = (await infra.repositories.registrars.get(id))!;
          if (registrar.packetId) {
            const packet = (await infra.repositories.packets.get(registrar.packetId))!;
            const { outcome } = await infra.repositories.packets.decide(
              packet.id,
              id,
              packet.drawSeq!,
              'approved',
              '',
            );
            if (outcome === 'ok') decided++;
          } else if (registrar.status === 'away' || (decided + i) % 7 === 0) {
            await infra.repositories.registrars.setStatus(id, registrar.status === 'away' ? 'free' : 'away');
          }
        }),
      );
      await sleep(5);
    }
    for (const dispatcher of dispatchers) dispatcher.stop();
    for (const connection of connections) connection.disconnect();
    await Promise.all(loops);

    expect(decided).toBe(200);
    const entries = await infra.repositories.protocol.entries();
    expect(verifyChain(entries)).toMatchObject({ ok: true });
    expect(entries.filter((entry) => entry.type !== 'status')).toHaveLength(400);
    // Every registrar's flip is in the protocol, and the replay of who could be drawn agrees with every draw.
    expect(checkExclusions(entries)).toMatchObject({ ok: true });
    const draws = drawsOf(entries);
    expect(new Set(draws.map((draw) => draw.packetId)).size).toBe(200);
    expect(draws).toHaveLength(200);
    // Walk the protocol: a registrar is drawn only when he holds nothing, and decides only what he holds.
    const holding = new Map<string, string>();
    for (const entry of entries) {
      if (entry.type === 'draw') {
        expect(holding.has(entry.chosen), `${entry.chosen} drawn while holding a packet`).toBe(false);
        holding.set(entry.chosen, entry.packetId);
      } else if (entry.type === 'decision') {
        expect(holding.get(entry.registrarId)).toBe(entry.packetId);
        holding.delete(entry.registrarId);
      }
    }
    const lost = (await infra.metrics.lostRaces.get()).values[0]?.value ?? 0;
    console.log(
      `200 packets, 3 dispatchers, 10 registrars: ${draws.length} draws, ${lost} lost races redrawn`,
    );
  }, 120_000);
});

describe('redistribution and exclusions', () => {
  const COOLDOWN_SECONDS = 2;
  const held = useTestStack('redraw', { RECUSAL_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS) });
  const api = apiClient(() => held.stack.app);

  it('a recusal sends the packet back for a new draw without the registrar, linked to the previous one', async () => {
    const { infra } = held.stack;
    const [first, second] = await freeRegistrars(infra, 2, ['recusal-service']);
    const dispatcher = dispatcherFor(infra);
    const packet = await readyPacket(infra, 'recusal-service');
    await dispatcher.dispatchAll();
    const holder = (await infra.repositories.packets.get(packet.id))!.registrarId!;
    const other = holder === first ? second! : first!;
    const token = (await infra.repositories.registrars.create('tmp', ['none'])).token; // a stranger
    expect(
      (await api.json('POST', `/v1/registrar/packets/${packet.id}/recuse`, token, { reason: 'not mine' }))
        .statusCode,
    ).toBe(404);

    const { outcome } = await infra.repositories.packets.release(
      packet.id,
      holder,
      (await infra.repositories.packets.get(packet.id))!.drawSeq!,
      'recusal',
      '',
    );
    expect(outcome).toBe('ok');
    await dispatcher.dispatchAll();
    const after = (await infra.repositories.packets.get(packet.id))!;
    expect(after.registrarId).toBe(other);
    const entries = await infra.repositories.protocol.entries();
    const release = entries.find((entry) => entry.type === 'release')!;
    const redraw = drawsOf(entries).at(-1)!;
    expect(release).toMatchObject({ reason: 'recusal', registrarId: holder, packetId: packet.id });
    expect(redraw).toMatchObject({ reason: 'recusal', previousSeq: release.seq, eligible: [other] });
    expect(redraw.excluded).toContainEqual({ registrarId: holder, reason: 'recused' });
  });

  it('a registrar recusing through HTTP gets the packet drawn again without him, and is free for others', async () => {
    const { infra } = held.stack;
    const { registrars, packets } = infra.repositories;
    const created = await Promise.all([1, 2].map((i) => registrars.create(`R${i}`, ['http-recusal'])));
    for (const { registrar } of created) await registrars.setStatus(registrar.id, 'free');
    const packet = await readyPacket(infra, 'http-recusal');
    await dispatcherFor(infra).dispatchAll();
    const holderId = (await packets.get(packet.id))!.registrarId!;
    const holder = created.find((entry) => entry.registrar.id === holderId)!;
    const other = created.find((entry) => entry.registrar.id !== holderId)!;

    const recused = await api.json('POST', `/v1/registrar/packets/${packet.id}/recuse`, holder.token, {
      reason: 'I know the applicant',
    });
    expect(recused.statusCode).toBe(202);
    expect(recused.json()).toEqual({ id: packet.id, status: 'ready' });
    expect((await registrars.get(holderId))!.status).toBe('free');
    await dispatcherFor(infra).dispatchAll();
    expect((await packets.get(packet.id))!.registrarId).toBe(other.registrar.id);
    const redraw = drawsOf(await infra.repositories.protocol.entries()).at(-1)!;
    expect(redraw).toMatchObject({ packetId: packet.id, reason: 'recusal', eligible: [other.registrar.id] });
    expect(redraw.excluded).toContainEqual({ registrarId: holderId, reason: 'recused' });
    const again = await api.json('POST', `/v1/registrar/packets/${packet.id}/recuse`, holder.token, {
      reason: 'twice',
    });
    expect(again.statusCode).toBe(404);
  });

  it('a recusal costs his place: out of the packets waiting then, and of every draw until the cooldown ends', async () => {
    const { infra } = held.stack;
    const { registrars, packets } = infra.repositories;
    const service = 'cooldown-service';
    const created = await Promise.all([1, 2, 3].map((i) => registrars.create(`C${i}`, [service])));
    const [first] = created;
    await registrars.setStatus(first!.registrar.id, 'free');
    const dispatcher = dispatcherFor(infra);
    const held1 = await readyPacket(infra, service);
    await dispatcher.dispatchAll();
    expect((await packets.get(held1.id))!.registrarId).toBe(first!.registrar.id);
    const waiting = await readyPacket(infra, service); // nobody else is free: it waits
    expect(await dispatcher.dispatchAll()).toBe(0);

    const recused = await api.json('POST', `/v1/registrar/packets/${held1.id}/recuse`, first!.token, {
      reason: 'my neighbour',
    });
    expect(recused.statusCode).toBe(202);
    const release = (await infra.repositories.protocol.entries()).at(-1)!;
    expect(release).toMatchObject({ type: 'release', reason: 'recusal', alsoExcludedFrom: [waiting.id] });
    // He is free, but neither packet may go to him, and while cooling down not even a new one.
    expect(await dispatcher.dispatchAll()).toBe(0);
    for (const { registrar } of created.slice(1)) await registrars.setStatus(registrar.id, 'free');
    expect(await dispatcher.dispatchAll()).toBe(2);
    const fresh = await readyPacket(infra, service);
    await registrars.setStatus(created[1]!.registrar.id, 'away');
    await registrars.setStatus(created[2]!.registrar.id, 'away');
    expect(await dispatcher.dispatchAll()).toBe(0);
    const draws = drawsOf(await infra.repositories.protocol.entries());
    for (const id of [held1.id, waiting.id])
      expect(draws.findLast((draw) => draw.packetId === id)!.excluded).toContainEqual({
        registrarId: first!.registrar.id,
        reason: 'recused',
      });

    await sleep(COOLDOWN_SECONDS * 1000 + 100);
    expect(await dispatcher.dispatchAll()).toBe(1);
    const afterCooldown = drawsOf(await infra.repositories.protocol.entries()).at(-1)!;
    expect(afterCooldown).toMatchObject({ packetId: fresh.id, chosen: first!.registrar.id });
    expect(checkExclusions(await infra.repositories.protocol.entries())).toMatchObject({ ok: true });
  });

  it('a registrar drawing nothing during his cooldown is named so in the draw', async () => {
    const { infra } = held.stack;
    const { registrars } = infra.repositories;
    const service = 'cooling-service';
    const [a, b, c] = await Promise.all([1, 2, 3].map((i) => registrars.create(`K${i}`, [service])));
    const dispatcher = dispatcherFor(infra);
    await registrars.setStatus(a!.registrar.id, 'free');
    const packet = await readyPacket(infra, service);
    expect(await dispatcher.dispatchAll()).toBe(1);
    await api.json('POST', `/v1/registrar/packets/${packet.id}/recuse`, a!.token, { reason: 'conflict' });
    await registrars.setStatus(b!.registrar.id, 'free');
    expect(await dispatcher.dispatchAll()).toBe(1);
    await registrars.setStatus(c!.registrar.id, 'free');
    const next = await readyPacket(infra, service);
    expect(await dispatcher.dispatchAll()).toBe(1);
    const draw = drawsOf(await infra.repositories.protocol.entries()).at(-1)!;
    expect(draw).toMatchObject({ packetId: next.id, eligible: [c!.registrar.id] });
    expect(draw.excluded).toContainEqual({ registrarId: a!.registrar.id, reason: 'cooldown' });
  });

  it('an administrator sets a holder away only after his packet; removing him redraws it; both need a reason and are counted', async () => {
    const { infra } = held.stack;
    await freeRegistrars(infra, 2, ['away-service']);
    const dispatcher = dispatcherFor(infra);
    const packet = await readyPacket(infra, 'away-service');
    await dispatcher.dispatchAll();
    const holder = (await infra.repositories.packets.get(packet.id))!.registrarId!;
    const withoutReason = await api.json('PUT', `/v1/registrars/${holder}/status`, TEST_ADMIN_TOKEN, {
      status: 'away',
      reason: ' ',
    });
    expect(withoutReason.statusCode).toBe(422);
    expect(errorCodeOf(withoutReason)).toBe('reason_required');
    const away = await api.json('PUT', `/v1/registrars/${holder}/status`, TEST_ADMIN_TOKEN, {
      status: 'away',
      reason: 'leaves at noon',
    });
    expect(away.statusCode).toBe(200);
    expect(away.json()).toMatchObject({ status: 'busy', awayAfterCurrentPacket: true });
    await dispatcher.dispatchAll();
    expect((await infra.repositories.packets.get(packet.id))!.registrarId).toBe(holder);

    const removal = await api.json('DELETE', `/v1/registrars/${holder}`, TEST_ADMIN_TOKEN, {
      reason: 'dismissed',
    });
    expect(removal.statusCode).toBe(204);
    await dispatcher.dispatchAll();
    expect((await infra.repositories.packets.get(packet.id))!.registrarId).not.toBe(holder);
    const redraw = drawsOf(await infra.repositories.protocol.entries()).at(-1)!;
    expect(redraw).toMatchObject({ reason: 'away', packetId: packet.id });
    expect(redraw.excluded).toContainEqual({ registrarId: holder, reason: 'removed' });
    const actions = (await infra.repositories.registrars.adminActions()).filter(
      (action) => action.registrarId === holder,
    );
    expect(actions).toMatchObject([
      { action: 'away', reason: 'leaves at noon', awayAfterPacket: true },
      { action: 'removed', reason: 'dismissed', released: { packetId: packet.id } },
    ]);
  });

  it('a station links a resubmission to the earlier decided packet; its decider is out of the draw, as logged', async () => {
    const { infra } = held.stack;
    const service = 'resubmission-service';
    await freeRegistrars(infra, 3, [service]);
    const station = await api.createStation();
    const dispatcher = dispatcherFor(infra);
    const earlier = await api.createPacket(station.token, { ticket: 'A-017', service });
    const refusedEarly = await api.json('POST', '/v1/packets', station.token, {
      ticket: 'A-018',
      service,
      resubmissionOf: earlier.trackingCode,
    });
    expect([refusedEarly.statusCode, refusedEarly.json().error.why]).toEqual([409, 'not_decided']);
    await makeReady(infra, earlier.id);
    await dispatcher.dispatchAll();
    const decider = await decideAsHolder(infra, earlier.id, 'rejected');

    const code = earlier.trackingCode.toLowerCase().replaceAll('-', '');
    const resubmission = await api.createPacket(station.token, {
      ticket: 'B-001',
      service,
      resubmissionOf: code,
    });
    const again = await api.json('POST', '/v1/packets', station.token, {
      ticket: 'B-002',
      service,
      resubmissionOf: earlier.trackingCode,
    });
    expect([again.statusCode, again.json().error.why]).toEqual([409, 'already_resubmitted']);
    const unknown = await api.json('POST', '/v1/packets', station.token, {
      ticket: 'B-003',
      service,
      resubmissionOf: 'ZZZZ-ZZZZ-ZZZZ-ZZZZ',
    });
    expect([unknown.statusCode, unknown.json().error.why]).toEqual([422, 'unknown_code']);
    await api.createRegistrar(['other-service']);
    const otherService = await api.json('POST', '/v1/packets', station.token, {
      ticket: 'B-004',
      service: 'other-service',
      resubmissionOf: earlier.trackingCode,
    });
    expect([otherService.statusCode, otherService.json().error.why]).toEqual([422, 'other_service']);
    const approved = await readyPacket(infra, service);
    await dispatcher.dispatchAll();
    await decideAsHolder(infra, approved.id, 'approved');
    const approvedCode = (await infra.repositories.packets.get(approved.id))!.trackingCode;
    const ofApproved = await api.json('POST', '/v1/packets', station.token, {
      ticket: 'B-005',
      service,
      resubmissionOf: approvedCode,
    });
    expect([ofApproved.statusCode, ofApproved.json().error.why]).toEqual([422, 'not_rejected']);

    await makeReady(infra, resubmission.id);
    await dispatcher.dispatchAll();
    const redraw = drawsOf(await infra.repositories.protocol.entries()).at(-1)!;
    expect(redraw).toMatchObject({
      packetId: resubmission.id,
      resubmissionOf: earlier.id,
      resubmissionPolicy: 'exclude_earlier',
    });
    expect(redraw.chosen).not.toBe(decider);
    expect(redraw.excluded).toContainEqual({
      registrarId: decider,
      reason: 'decided_earlier_submission',
    });
    expect(checkExclusions(await infra.repositories.protocol.entries())).toMatchObject({ ok: true });
  });

  it('waits while fewer than DISPATCH_MIN_POOL eligible registrars are free, visibly', async () => {
    const { infra } = held.stack;
    const [a, b, c] = await freeRegistrars(infra, 3, ['pool-service']);
    await infra.repositories.registrars.setStatus(c!, 'away');
    const dispatcher = dispatcherFor(infra, { minPool: 3 });
    const packet = await readyPacket(infra, 'pool-service');
    expect(await dispatcher.dispatchAll()).toBe(0);
    expect((await infra.repositories.packets.get(packet.id))!.status).toBe('ready');
    expect((await infra.metrics.starvedPackets.get()).values[0]?.value).toBe(1);
    await infra.repositories.registrars.setStatus(c!, 'free');
    expect(await dispatcher.dispatchAll()).toBe(1);
    const draw = drawsOf(await infra.repositories.protocol.entries()).at(-1)!;
    expect(draw).toMatchObject({ packetId: packet.id, reason: 'registrar_free', eligible: [a, b, c].sort() });
  });

  it('a registrar turning free gets one of the oldest DISPATCH_WINDOW packets he may take, at random', async () => {
    const { infra } = held.stack;
    const waiting = [];
    for (let i = 0; i < 5; i++) {
      waiting.push(await readyPacket(infra, 'window-service'));
      await sleep(3); // distinct ready times: equal times would order by id
    }
    const dispatcher = dispatcherFor(infra, { window: 3 });
    expect(await dispatcher.dispatchAll()).toBe(0);
    const [registrar] = await freeRegistrars(infra, 1, ['window-service']);
    expect(await dispatcher.dispatchAll()).toBe(1);
    const draw = drawsOf(await infra.repositories.protocol.entries()).at(-1)!;
    expect(draw.packetWindow.packetIds).toEqual(waiting.slice(0, 3).map((packet) => packet.id));
    expect(draw.packetId).toBe(draw.packetWindow.packetIds[draw.packetWindow.randomIndex]);
    expect(draw).toMatchObject({ chosen: registrar, reason: 'registrar_free' });
  });
});

describe('committed randomness', () => {
  // Four-second epochs, so that one test sees an epoch announced ahead, drawn in, ended and revealed.
  const held = useTestStack('epochs', { DRAW_EPOCH_SECONDS: '4' });
  const api = apiClient(() => held.stack.app);
  const verify = () =>
    api.json('GET', '/v1/audit/verify', TEST_ADMIN_TOKEN).then((response) => response.json());
  const waitForEpoch = async (epoch: number) => {
    while (epochOf(Date.now(), 4) < epoch) await sleep(50);
  };

  it('draws from a secret signed before its epoch and revealed after; a chosen index is caught', async () => {
    const { infra, prefix } = held.stack;
    await freeRegistrars(infra, 4, ['epoch-service']);
    const dispatcher = dispatcherFor(infra);
    await dispatcher.dispatchAll(); // announces this epoch (late: it began already) and the next (ahead)
    const drawEpoch = epochOf(Date.now(), 4) + 1;
    await waitForEpoch(drawEpoch);
    const drawn: string[] = [];
    for (let i = 0; i < 3; i++) {
      drawn.push((await readyPacket(infra, 'epoch-service')).id);
      await dispatcher.dispatchAll();
    }
    const entries = await infra.repositories.protocol.entries();
    const draws = drawsOf(entries).filter((entry) => drawn.includes(entry.packetId));
    expect(draws.map((entry) => entry.epoch)).toEqual([drawEpoch, drawEpoch, drawEpoch]);
    expect(await verify()).toMatchObject({ ok: true, draws: { pending: 3 } });

    // The epoch ends; the next pass reveals its secret, the one whose SHA-256 was signed before it began.
    await waitForEpoch(drawEpoch + 1);
    await dispatcher.dispatchAll();
    const epoch = (await api.json('GET', `/v1/audit/epoch/${drawEpoch}`, TEST_ADMIN_TOKEN)).json();
    expect(Date.parse(epoch.announcement.body.announcedAt)).toBeLessThan(drawEpoch * 4000);
    expect(createHash('sha256').update(Buffer.from(epoch.secret, 'hex')).digest('hex')).toBe(
      epoch.announcement.body.commitment,
    );
    expect(await verify()).toMatchObject({ ok: true, draws: { verified: 3, pending: 0 } });

    // The offline auditor, on the export and the office certificate alone, as its own process.
    const exported = (await api.json('GET', '/v1/audit/export', TEST_ADMIN_TOKEN)).json();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'audit-export-'));
    const certificate = path.join(dir, 'office.der');
    await writeFile(certificate, (await infra.signingIdentity()).certificates[0]!);
    const audit = async (content: unknown, pin = certificate) => {
      const file = path.join(dir, `export-${randomUUID()}.json`);
      await writeFile(file, JSON.stringify(content));
      return run(process.execPath, ['--import', 'tsx', AUDIT_CLI, file, '--certificate', pin]).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
    };
    try {
      const honest = await audit(exported);
      expect(honest.stdout).toMatch(/OK +draws recomputed from revealed epoch secrets: 3 recomputed/);
      expect(honest.stdout).toMatch(/Everything holds/);
      expect(honest.code).toBe(0);
      // The second draw given to another registrar in the file, the chain resealed: the epoch secret disagrees.
      const entries = structuredClone(exported.entries) as ProtocolEntry[];
      const target = entries.findIndex((entry) => entry.type === 'draw' && entry.packetId === drawn[1]);
      const draw = entries[target] as ProtocolEntry & DrawEntry;
      draw.randomIndex = (draw.randomIndex + 1) % draw.eligible.length;
      draw.chosen = draw.eligible[draw.randomIndex]!;
      for (let i = target; i < entries.length; i++) {
        const { hash: _old, ...unsealed } = { ...entries[i]!, prevHash: entries[i - 1]!.hash };
        entries[i] = { ...unsealed, hash: hashEntry(unsealed) } as ProtocolEntry;
      }
      const forged = await audit({ ...exported, entries });
      expect(forged.stdout).toMatch(new RegExp(`FAIL +draws recomputed .*entry ${draw.seq}: randomIndex`));
      expect(forged.code).toBe(1);
      // Checkpoints repeat the epoch commitments: even the office key cannot announce the epoch anew.
      const signedFirst = (exported.checkpoints as SignedCheckpoint[])[0]!;
      expect(signedFirst.body.epochs).toContainEqual({
        epoch: drawEpoch,
        commitment: epoch.announcement.body.commitment,
      });
      const secret = randomBytes(32).toString('hex');
      const body = {
        ...epoch.announcement.body,
        commitment: createHash('sha256').update(Buffer.from(secret, 'hex')).digest('hex'),
      };
      const reannounced = {
        ...exported,
        epochs: (exported.epochs as Array<{ epoch: number }>).map((published) =>
          published.epoch === drawEpoch
            ? { ...published, ...epoch, secret, announcement: { ...epoch.announcement, body } }
            : published,
        ),
      };
      const identity = await infra.signingIdentity();
      for (const published of reannounced.epochs as Array<{
        epoch: number;
        announcement: { signature: string };
      }>)
        if (published.epoch === drawEpoch)
          published.announcement.signature = (
            await signWithIdentity(epochAnnouncementMessage(body), identity)
          ).toString('base64');
      const rewritten = await audit(reannounced);
      expect(rewritten.stdout).toMatch(/differs from the commitment signed checkpoints repeat/);
      expect(rewritten.code).toBe(1);
      // Without its checkpoints nothing vouches for the entries; under another certificate nothing holds.
      expect((await audit({ ...exported, checkpoints: [] })).code).toBe(1);
      const stranger = path.join(dir, 'stranger.der');
      const strangerIdentity = await loadSigningIdentity(
        { kind: 'generated', dataDir: dir, office: 'Somebody else' },
        infra.log,
      );
      await writeFile(stranger, strangerIdentity.certificates[0]!);
      const pinnedWrong = await audit(exported, stranger);
      expect(pinnedWrong.stdout).toMatch(/FAIL +office certificate/);
      expect(pinnedWrong.code).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    // Someone with Redis and bucket write access logs another registrar for the second draw, reseals the chain,
    // rewrites the mirror and deletes the checkpoints that would give him away: the epoch's secret still does.
    const key = `${prefix}:protocol`;
    const all = (await infra.redis.lrange(key, 0, -1)).map((line) => JSON.parse(line) as ProtocolEntry);
    const target = all.findIndex((entry) => entry.type === 'draw' && entry.packetId === drawn[1]);
    const forged = all[target] as ProtocolEntry & DrawEntry;
    forged.randomIndex = (forged.randomIndex + 1) % forged.eligible.length;
    forged.chosen = forged.eligible[forged.randomIndex]!;
    for (let i = target; i < all.length; i++) {
      const { hash: _old, ...unsealed } = { ...all[i]!, prevHash: all[i - 1]!.hash };
      all[i] = { ...unsealed, hash: hashEntry(unsealed) } as ProtocolEntry;
      await infra.redis.lset(key, i, JSON.stringify(all[i]));
      await infra.store.put(
        `protocol/${prefix}/${String(all[i]!.seq).padStart(10, '0')}.json`,
        Buffer.from(JSON.stringify(all[i])),
        'application/json',
      );
    }
    await infra.redis.hset(`${key}:head`, 'hash', all.at(-1)!.hash);
    await infra.redis.del(`${key}:checkpoints`, `${key}:checkpoint-sizes`);
    expect(await verify()).toMatchObject({
      ok: false,
      brokenAt: forged.seq,
      reason: expect.stringMatching(/randomIndex is \d; the epoch's secret gives \d/),
    });
  });
});

describe('protocol audit and registrar routes', () => {
  // A checkpoint every 4 entries, so that a few packets make several.
  const held = useTestStack('audit', { CHECKPOINT_ENTRIES: '4' });
  const api = apiClient(() => held.stack.app);
  const verify = () =>
    api.json('GET', '/v1/audit/verify', TEST_ADMIN_TOKEN).then((response) => response.json());

  /** `count` packets of `service` drawn for two free registrars and approved: two entries each. */
  async function drawnAndDecided(service: string, count: number) {
    const { infra } = held.stack;
    await freeRegistrars(infra, 2, [service]);
    const dispatcher = dispatcherFor(infra);
    for (let i = 0; i < count; i++) {
      const packet = await readyPacket(infra, service);
      await dispatcher.dispatchAll();
      await decideAsHolder(infra, packet.id);
    }
    return dispatcher;
  }

  it('verifies the chain, and points at an entry that was tampered with or a missing tail', async () => {
    const { infra, prefix } = held.stack;
    const dispatcher = await drawnAndDecided('audit-service', 4);
    // Two registrars turning free, then four draws and their decisions.
    expect(await verify()).toMatchObject({ ok: true, entries: 10 });

    const key = `${prefix}:protocol`;
    const original = (await infra.redis.lindex(key, 2))!;
    const edited = JSON.parse(original);
    edited.outcome = edited.type === 'decision' ? 'rejected' : edited.outcome;
    edited.chosen = edited.type === 'draw' ? 'rg_someone_else_entirely__' : edited.chosen;
    await infra.redis.lset(key, 2, JSON.stringify(edited));
    expect(await verify()).toMatchObject({ ok: false, brokenAt: 3 });
    await infra.redis.lset(key, 2, original);
    expect(await verify()).toMatchObject({ ok: true });

    const last = (await infra.redis.rpop(key))!;
    expect(await verify()).toMatchObject({ ok: false, brokenAt: 10 });
    await infra.redis.rpush(key, last);

    const page = (await api.json('GET', '/v1/audit/assignments?after=2&limit=3', TEST_ADMIN_TOKEN)).json();
    expect(page.entries.map((entry: ProtocolEntry) => entry.seq)).toEqual([3, 4, 5]);
    expect(page.next).toBe(5);
    const fairness = (await api.json('GET', '/v1/audit/fairness', TEST_ADMIN_TOKEN)).json();
    expect(fairness.services[0]).toMatchObject({ service: 'audit-service', draws: 4 });
    // Mirrored to S3, one object per entry, in the deployment's own folder.
    await dispatcher.mirrorProtocol();
    expect(await infra.store.stat(`protocol/${prefix}/0000000010.json`)).toBeDefined();
    expect(await verify()).toMatchObject({
      ok: true,
      mirror: { mirrored: 10, behind: 0 },
      checkpoints: { signed: 2, coveredEntries: 7 },
    });
  });

  it('signs checkpoints with the office key and proves entries and growth against them (RFC 9162)', async () => {
    const { infra } = held.stack;
    await drawnAndDecided('proof-service', 3);
    const latest = (
      await api.json('GET', '/v1/audit/checkpoint', TEST_ADMIN_TOKEN)
    ).json() as SignedCheckpoint;
    const [firstSize] = await infra.repositories.protocol.checkpointSizes();
    const earlier = (
      await api.json('GET', `/v1/audit/checkpoint?size=${firstSize}`, TEST_ADMIN_TOKEN)
    ).json() as SignedCheckpoint;
    expect(earlier.body.treeSize).toBe(firstSize);
    // The signature holds under the office certificate, checked with nothing but node:crypto.
    const identity = await infra.signingIdentity();
    expect(Buffer.from(latest.certificate, 'base64').equals(identity.certificates[0]!)).toBe(true);
    const publicKey = new X509Certificate(Buffer.from(latest.certificate, 'base64')).publicKey;
    expect(
      cryptoVerify(
        'sha256',
        checkpointMessage(latest.body),
        // The development key is ECDSA P-256; the signature is r‖s, as WebCrypto writes it.
        { key: publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(latest.signature, 'base64'),
      ),
    ).toBe(true);

    // Each entry of the latest tree is in it, by its inclusion proof against the signed root.
    const entries = await infra.repositories.protocol.entries(0, latest.body.treeSize);
    for (const entry of entries) {
      const proof = (
        await api.json('GET', `/v1/audit/proof/${entry.seq}?size=${latest.body.treeSize}`, TEST_ADMIN_TOKEN)
      ).json();
      expect(proof.leafHash).toBe(protocolLeaf(entry).toString('hex'));
      const path = proof.path.map((hash: string) => Buffer.from(hash, 'hex'));
      const root = Buffer.from(latest.body.rootHash, 'hex');
      expect(verifyInclusion(protocolLeaf(entry), entry.seq - 1, latest.body.treeSize, path, root)).toBe(
        true,
      );
    }
    // And the latest tree extends the first unchanged.
    const consistency = (
      await api.json(
        'GET',
        `/v1/audit/consistency?from=${firstSize}&to=${latest.body.treeSize}`,
        TEST_ADMIN_TOKEN,
      )
    ).json();
    expect(
      verifyConsistency(
        firstSize!,
        latest.body.treeSize,
        Buffer.from(earlier.body.rootHash, 'hex'),
        Buffer.from(latest.body.rootHash, 'hex'),
        consistency.path.map((hash: string) => Buffer.from(hash, 'hex')),
      ),
    ).toBe(true);
    expect((await api.json('GET', '/v1/audit/proof/100000', TEST_ADMIN_TOKEN)).statusCode).toBe(404);
    expect((await api.json('GET', '/v1/audit/checkpoint?size=100000', TEST_ADMIN_TOKEN)).statusCode).toBe(
      404,
    );
  });

  it('catches a chain rewritten consistently in Redis: the S3 mirror disagrees and is never overwritten', async () => {
    const { infra, prefix } = held.stack;
    const dispatcher = await drawnAndDecided('forgery-service', 3);
    await dispatcher.mirrorProtocol();
    const before = await verify();
    expect(before).toMatchObject({ ok: true, mirror: { behind: 0 } });

    // Someone with Redis write access turns the first decision of this test into a rejection and reseals every
    // entry after it and the head: every hash and link is right again.
    const key = `${prefix}:protocol`;
    const entries = (await infra.redis.lrange(key, 0, -1)).map((line) => JSON.parse(line) as ProtocolEntry);
    const forged = entries.findIndex(
      (entry) => entry.type === 'decision' && entry.seq > before.entries - 6 && entry.outcome === 'approved',
    );
    (entries[forged] as ProtocolEntry & { outcome: string }).outcome = 'rejected';
    for (let i = forged; i < entries.length; i++) {
      const { hash: _old, ...unsealed } = {
        ...entries[i]!,
        prevHash: i === 0 ? GENESIS_HASH : entries[i - 1]!.hash,
      };
      entries[i] = { ...unsealed, hash: hashEntry(unsealed) } as ProtocolEntry;
      await infra.redis.lset(key, i, JSON.stringify(entries[i]));
    }
    await infra.redis.hset(`${key}:head`, 'hash', entries.at(-1)!.hash);
    expect(verifyChain(entries).ok).toBe(true);
    expect(await verify()).toMatchObject({
      ok: false,
      brokenAt: forged + 1,
      reason: 'differs from its S3 mirror copy',
    });

    // Resetting the mirror's position does not let the dispatcher overwrite the copy: it keeps it and counts.
    const mirrored = `protocol/${prefix}/${String(forged + 1).padStart(10, '0')}.json`;
    const copy = await infra.store.get(mirrored);
    const conflicts = async () => (await infra.metrics.mirrorConflicts.get()).values[0]?.value ?? 0;
    const conflictsBefore = await conflicts();
    await infra.redis.set(`${key}:mirrored-scoped`, '0');
    await dispatcher.mirrorProtocol();
    expect((await infra.store.get(mirrored)).equals(copy)).toBe(true);
    expect(await conflicts()).toBe(conflictsBefore + 1);
    expect(await verify()).toMatchObject({ ok: false, brokenAt: forged + 1 });

    // Someone who can also write the bucket rewrites the mirror to match: the signed checkpoints still disagree,
    // and the verifier points at the first entry no valid checkpoint vouches for.
    for (const entry of entries.slice(forged))
      await infra.store.put(
        `protocol/${prefix}/${String(entry.seq).padStart(10, '0')}.json`,
        Buffer.from(JSON.stringify(entry)),
        'application/json',
      );
    const sizes = await infra.repositories.protocol.checkpointSizes();
    const lastGood = Math.max(...sizes.filter((size) => size <= forged));
    const firstBad = Math.min(...sizes.filter((size) => size > forged));
    expect(await verify()).toMatchObject({
      ok: false,
      brokenAt: lastGood + 1,
      reason: `entries ${lastGood + 1}–${firstBad} are not the ones checkpoint ${firstBad} signed`,
    });
  });

  it('walks a registrar through status, assignment, decision; stations and the public never see him', async () => {
    const { infra } = held.stack;
    const station = await api.createStation();
    const stationPacket = await api.createPacket(station.token, { ticket: 'R-1', service: 'route-service' });
    const created = await infra.repositories.registrars.create('Ivanna', ['route-service']);
    const other = await infra.repositories.registrars.create('Petro', ['route-service']);
    const token = created.token;
    expect((await api.json('GET', '/v1/registrar/assignment', token)).statusCode).toBe(204);
    expect((await api.json('PUT', '/v1/registrar/status', token, { status: 'free' })).json()).toEqual({
      status: 'free',
      awayAfterCurrentPacket: false,
    });
    // Move the station's packet to ready as the bundle job would (no pages are needed for the dispatcher).
    await infra.redis.hset(
      `${held.stack.prefix}:packet:${stationPacket.id}`,
      'status',
      'processing',
      'pageCount',
      '1',
    );
    await infra.repositories.packets.markReady(stationPacket.id, new Date(), {
      key: 'x',
      sha256: 'a'.repeat(64),
      bytes: 1,
      pages: 1,
    });
    const poll = api.json('GET', '/v1/registrar/assignment?wait=5', token);
    await dispatcherFor(infra).dispatchAll();
    const assignment = await poll;
    expect(assignment.statusCode).toBe(200);
    expect(assignment.json()).toMatchObject({
      packetId: stationPacket.id,
      service: 'route-service',
      pages: 1,
    });

    const stationView = (await api.getPacket(station.token, stationPacket.id)).json();
    expect(stationView.status).toBe('assigned');
    expect(JSON.stringify(stationView)).not.toContain(created.registrar.id);
    expect((await api.json('GET', `/v1/track/${stationPacket.trackingCode}`)).json()).toEqual({
      status: 'with_registrar',
    });
    expect((await api.getPacket(TEST_ADMIN_TOKEN, stationPacket.id)).json().registrarId).toBe(
      created.registrar.id,
    );

    const decide = (who: string) =>
      api.json('POST', `/v1/registrar/packets/${stationPacket.id}/decision`, who, {
        outcome: 'approved',
        note: 'ok',
      });
    expect(
      (await api.json('GET', `/v1/registrar/packets/${stationPacket.id}/pdf`, other.token)).statusCode,
    ).toBe(404);
    expect((await decide(other.token)).statusCode).toBe(404);
    expect((await api.json('PUT', '/v1/registrar/status', token, { status: 'away' })).json()).toEqual({
      status: 'busy',
      awayAfterCurrentPacket: true,
    });
    expect((await decide(token)).json()).toEqual({
      id: stationPacket.id,
      status: 'decided',
      outcome: 'approved',
    });
    const twice = await decide(token);
    expect(twice.statusCode).toBe(409);
    expect(errorCodeOf(twice)).toBe('not_assigned');
    const lateRecusal = await api.json('POST', `/v1/registrar/packets/${stationPacket.id}/recuse`, token, {
      reason: 'too late',
    });
    expect(lateRecusal.statusCode).toBe(409);
    expect((await infra.repositories.registrars.get(created.registrar.id))!.status).toBe('away');
    expect((await api.json('GET', `/v1/track/${stationPacket.trackingCode}`)).json()).toEqual({
      status: 'decided',
      outcome: 'approved',
    });
  });

  it('removing a registrar revokes his token', async () => {
    const { infra } = held.stack;
    const created = await infra.repositories.registrars.create('Leaving', ['route-service']);
    expect((await api.json('GET', '/v1/registrar/assignment', created.token)).statusCode).toBe(204);
    expect(
      (
        await api.json('DELETE', `/v1/registrars/${created.registrar.id}`, TEST_ADMIN_TOKEN, {
          reason: 'left the office',
        })
      ).statusCode,
    ).toBe(204);
    expect((await api.json('GET', '/v1/registrar/assignment', created.token)).statusCode).toBe(401);
  });
});

describe('protocol audit while the protocol grows', () => {
  // A checkpoint every 4 entries, so that checkpoints are signed while the audit reads.
  const held = useTestStack('audit-live', { CHECKPOINT_ENTRIES: '4' });
  const api = apiClient(() => held.stack.app);
  const verify = () =>
    api.json('GET', '/v1/audit/verify', TEST_ADMIN_TOKEN).then((response) => response.json());

  it('verifies while the protocol grows, mirrored and checkpointed as it goes: never a false alarm', async () => {
    const { infra } = held.stack;
    const { token } = await infra.repositories.registrars.create('Olha', ['busy-service']);
    const dispatcher = dispatcherFor(infra);
    let growing = true;
    // Each turn appends a status entry; every fourth entry is due a checkpoint (CHECKPOINT_ENTRIES 4).
    const growth = (async () => {
      for (let turn = 0; growing; turn++) {
        await api.json('PUT', '/v1/registrar/status', token, { status: turn % 2 ? 'away' : 'free' });
        await dispatcher.mirrorProtocol();
      }
    })();
    const answers = [];
    for (const until = Date.now() + 8000; Date.now() < until; ) answers.push(await verify());
    growing = false;
    await growth;
    expect(answers.filter((answer) => !answer.ok)).toEqual([]);
    expect(await verify()).toMatchObject({ ok: true });
  });
});
