// The asynchat module, as one namespace: `import { asynchat } from 'asynchat'`.
export { AsyncChat, SimpleProducer, findPrefixAtEnd, type Producer, type Terminator } from './async-chat';
