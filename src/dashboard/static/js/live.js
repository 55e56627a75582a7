/* global EventSource */
// The live feed: /partner/events as Server-Sent Events. EventSource cannot send headers and the
// admin token never goes in a URL, so each connection opens with a single-use ticket that the
// partner API hands out for the header. A ticket works once: the feed reconnects by itself,
// with a new ticket and the last event id it saw.
import { api } from './api.js';

const EVENTS = ['channel.post', 'channel.patch', 'users.post', 'users.delete', 'messages.post', 'statuses.post', 'alerts.post'];
const RETRY_MS = 5000;
const RECONNECT_MS = 1000;

/** Opens the feed; `onState` sees 'live', 'reconnecting' or 'offline'. Answers {on, close}. */
export function connectLive(onState) {
  const listeners = new Set();
  let source = null;
  let retry = null;
  let closed = false;
  let lastId = null;

  const again = (state, ms) => {
    onState(state);
    if (!closed) retry = setTimeout(open, ms);
  };

  const open = async () => {
    let ticket;
    try {
      ({ ticket } = await api('POST', '/partner/events/ticket'));
    } catch {
      // A refused admin token ends the session (api.js); anything else is worth another try.
      return again('offline', RETRY_MS);
    }
    if (closed) return;
    const query = new URLSearchParams({ ticket });
    if (lastId !== null) query.set('last_event_id', lastId);
    source = new EventSource(`/partner/events?${query}`);
    source.onopen = () => onState('live');
    source.onerror = () => {
      // The browser would retry with the same, used ticket: close and come back with a new one.
      source.close();
      again('reconnecting', RECONNECT_MS);
    };
    for (const name of EVENTS) {
      source.addEventListener(name, (e) => {
        if (e.lastEventId) lastId = e.lastEventId;
        const data = JSON.parse(e.data);
        for (const fn of listeners) fn(name, data);
      });
    }
  };
  void open();

  return {
    /** `fn(name, envelope)` for every event; answers the unsubscribe function. */
    on(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    close() {
      closed = true;
      clearTimeout(retry);
      source?.close();
      onState('offline');
    },
  };
}
