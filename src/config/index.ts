export { b2bOptionsFromConfig, credentialLookup, listenSpecsFromConfig } from './b2b-options.js';
export { ConfigError, type ConfigErrorCode, type ConfigProblem, formatProblem } from './config-error.js';
export {
  CONFIG_SCHEMA,
  type CredentialConfig,
  type DaemonConfig,
  type DaemonConfigInput,
  DEFAULT_HTTP_PORT,
  DEFAULT_SIP_PORT,
  isLoopbackHost,
  type ListenConfig,
} from './config-schema.js';
export { applyEnvOverrides, ENV_PREFIX, type EnvOverride, envOverrides, envValue } from './env-overrides.js';
export { configDocumentFromYaml, loadConfig, type LoadConfigOptions, parseConfig } from './load-config.js';
