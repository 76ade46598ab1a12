// Types for the `cap` package (0.2.1, a libpcap binding; no @types/cap exists).
// Only what src/capture/liveCap.ts uses. ESM: `import capPkg from 'cap'` (CommonJS module,
// the default export is module.exports; named imports fail).

declare module 'cap' {
  import type { EventEmitter } from 'node:events';

  export interface CapAddress {
    addr?: string;
    netmask?: string;
    broadaddr?: string;
    dstaddr?: string;
  }

  export interface CapDevice {
    name: string;
    description?: string;
    addresses: CapAddress[];
    /** 'PCAP_IF_LOOPBACK' on loopback devices; absent otherwise. */
    flags?: string;
  }

  export class Cap extends EventEmitter {
    constructor();
    /**
     * Opens `device` with a BPF `filter`; `bufSize` is libpcap's ring size in bytes; every
     * packet is copied into `buffer` (keep it referenced while open: the binding holds a raw
     * pointer). Returns the link type: 'ETHERNET', 'LINKTYPE_LINUX_SLL', 'NULL', 'RAW',
     * 'IEEE802_11_RADIO', or 'Unknown linktype N' (N = the DLT_ value). Throws libpcap's message.
     */
    open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
    /** Stops capturing; true if it was open. Never open() the same Cap again afterwards. */
    close(): boolean;
    send(buffer: Buffer, nBytes?: number): void;
    /** `nbytes` bytes of the packet are at the start of the open() buffer until the next packet;
     *  `truncated`: the packet did not fit in the buffer. No timestamp, no original length. */
    on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): this;
    on(event: string, listener: (...args: any[]) => void): this;
    static findDevice(ip?: string): string | undefined;
    static deviceList(): CapDevice[];
  }

  export const decoders: Record<string, unknown>;

  const capPkg: {
    Cap: typeof Cap;
    decoders: typeof decoders;
  };
  export default capPkg;
}
