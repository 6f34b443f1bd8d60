// Public face of src/config: load and check millwright.yml, and the duration parser later features share.

export { parseDuration } from '../core/duration.js';
export { type ConfigCheck, checkConfig } from './check.js';
export { ConfigError, type ConfigProblem, formatProblem } from './config-error.js';
export { type LoadConfigOptions, type LoadedConfig, loadConfig, resolveConfigPath } from './load.js';
export { isChatPlatformConfigured, type MillwrightConfig } from './schema.js';
export { checkYaml, type YamlCheck } from './yaml-schema.js';
