// Public surface of the traffic side (server, client, scenarios), for the CLI.

export {
  DEFAULT_PORT, DEFAULT_MAX_PAYLOAD, DEFAULT_TIMEOUT_MS, FrameReader, VvmpConnection, TransportError, TimeoutError,
  ConnectionRefusedError, ConnectionResetError, bindUdp, sendUdpFrame, parseHostPort, formatHostPort, defaultTimeoutFor,
  type TransportKind, type HostPort, type FrameReaderOptions, type ConnectionOptions, type RequestOptions, type PendingExchange,
} from './transport.js';
export {
  ConfigError, DEFAULT_LIMITS, defaultServerConfig, loadServerConfig, validateServerConfig, serverConfigToJson,
  type ServerConfig, type DeviceConfig, type PeerConfig, type ServerLimits,
} from './config.js';
export { SanManager, type ManagerOptions, type ManagerState, type Session, type DeviceView } from './manager.js';
export { startServer, loadStateFile, removeStrayTemps, type ServerOptions, type VvmpServer, type ReplyTarget } from './server.js';
export {
  OptionError, allocate, initialize, modify, stats, free, query, send, withConnection, parseSize, parseRate, parseBytes,
  parseStorageType, parseAccessType, parseQos, parseClientId, parseAllocSubop, parseQueryScope, describeReply,
  describePayload, formatKb, DEFAULT_CLIENT_ID,
  type ClientOptions, type ClientResult, type AllocateOptions, type InitializeOptions, type ModifyOptions, type FreeOptions,
  type SessionOptions, type QueryOptions,
} from './client.js';
export {
  SCENARIO_NAMES, runScenario, runLoad, lifecycle, contention, multiSan, errors, load, startSilentPeer,
  type ScenarioName, type ScenarioOptions, type ScenarioResult, type ScenarioStep, type LoadOptions, type LoadResult,
} from './scenarios.js';
