// The asynchat module, as one namespace: `import { asynchat } from 'asynchat'`.
export { AsyncChat, SimpleProducer, findPrefixAtEnd, type Producer, type Terminator } from './async-chat';
export {
  Framer, framers, type FramerFactories, type FramerKind, type FramerOptions, type LengthPrefixedOptions, type NetstringOptions,
  type RespFramerOptions,
} from './framers';
export type { BadFrameError, FrameTooLargeError } from './frame-errors';
