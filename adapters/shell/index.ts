export { ShellAdapter, type ShellAdapterOptions } from './shell-adapter.js';
