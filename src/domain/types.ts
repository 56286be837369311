import type { PacketStatus, PageStatus } from './status.js';

export type Principal =
  | { role: 'admin' }
  | { role: 'station'; id: string }
  | { role: 'registrar'; id: string };

export type Station = { id: string; name: string; createdAt: string };

export const REGISTRAR_STATUSES = ['free', 'busy', 'away'] as const;
export type RegistrarStatus = (typeof REGISTRAR_STATUSES)[number];
export type Registrar = {
  id: string;
  name: string;
  services: string[];
  status: RegistrarStatus;
  createdAt: string;
};

export const IMAGE_FORMATS = ['jpeg', 'png', 'tiff', 'webp'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export type Page = {
  n: number;
  status: PageStatus;
  sha256: string;
  bytes: number;
  format: ImageFormat;
  width: number;
  height: number;
  /** Object key of the original upload. */
  originalKey: string;
  storedAt: string;
  failure?: string;
};

export type Packet = {
  id: string;
  ticket: string;
  service: string;
  stationId: string;
  status: PacketStatus;
  trackingCode: string;
  createdAt: string;
  submittedAt?: string;
  pageCount?: number;
  failure?: string;
};
