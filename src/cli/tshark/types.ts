// What a tshark-style `vvmp read` run is given and gives back.

import type { CaptureResult } from '../../capture/file.js';
import type { SegmentEvent } from '../../net/types.js';
import type { CompiledFilter } from '../../analysis/filter/index.js';
import type { PipelineOptions } from '../../analysis/pipeline.js';
import type { FieldsLayout } from '../../output/tshark/fields.js';
import type { PacketRecord } from '../../output/tshark/packet.js';
import type { TimeFormat } from '../../output/tshark/time.js';
import type { OutputType, StatSpec } from './options.js';

export interface TsharkRun {
  input: string;
  maxPackets?: number;
  pipeline: PipelineOptions;
  filter: CompiledFilter | null;
  type: OutputType;
  verbose: boolean;
  hex: boolean;
  quiet: boolean;
  time: TimeFormat;
  fields: FieldsLayout | null;
  stats: StatSpec[];
  /** Called with every shown packet (for -w). */
  onShown?: (r: PacketRecord) => void;
  /** TCP gaps and skipped bytes, as they happen (read reports them on stderr). */
  segment?: (e: SegmentEvent) => void;
  /** `input` is a file that may be read and decoded on a second thread (-T fields as records). */
  threads?: boolean;
}

export interface TsharkResult {
  capture: CaptureResult;
  /** Packets read and VVMP frames decoded (for the "no VVMP on these ports" hint). */
  packets: number;
  vvmpFrames: number;
}

