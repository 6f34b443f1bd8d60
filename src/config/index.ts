// Public face of src/config: load and check millwright.yml, and the duration parser later features share.

export { parseDuration } from '../core/duration.js';
export { type ConfigCheck, checkConfig } from './check.js';
export { ConfigError, type ConfigProblem, formatProblem } from './config-error.js';
export { type LoadConfigOptions, type LoadedConfig, loadConfig, resolveConfigPath } from './load.js';
export {
  type BaseConfig,
  type ConfigSchema,
  composeConfigSchema,
  type MillwrightConfig,
  optionalSection,
} from './schema.js';
export { checkYaml, type YamlCheck } from './yaml-schema.js';

declare module '../core/context.js' {
  interface Services {
    /** The validated config (paths absolute). */
    config: import('./schema.js').MillwrightConfig;
    /** The absolute path of the config file that was read. */
    configFile: string;
  }
}
