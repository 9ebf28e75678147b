// The reactor's event bits as the engine uses them: what a channel asks for, and what ends it.
import { EV } from '../binding/native';

/** Asked for by a channel that reads (priority data comes with it, as Python's select() lists). */
export const READ_INTEREST = EV.READ | EV.PRI;
export const WRITE_INTEREST = EV.WRITE;
/** Events that end a stream: a hang-up, an error condition, an fd closed under the reactor. */
export const CLOSE_EVENTS = EV.HUP | EV.ERR | EV.NVAL;
export const HANGUP_EVENTS = EV.HUP | EV.NVAL;
