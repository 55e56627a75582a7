/* global EventSource */
// The live feed: /partner/events as Server-Sent Events. EventSource cannot send headers, so
// the admin token rides in the query string (the gateway's logs redact it).

const EVENTS = ['channel.post', 'channel.patch', 'users.post', 'users.delete', 'alerts.post'];
const RETRY_MS = 5000;

/** Opens the feed; `onState` sees 'live', 'reconnecting' or 'offline'. Answers {on, close}. */
export function connectLive(token, onState) {
  const listeners = new Set();
  let source = null;
  let retry = null;
  let closed = false;

  const open = () => {
    source = new EventSource(`/partner/events?token=${encodeURIComponent(token)}`);
    source.onopen = () => onState('live');
    source.onerror = () => {
      // The browser retries by itself unless the answer was not a stream (a 401, a restart).
      if (source.readyState !== EventSource.CLOSED) return onState('reconnecting');
      onState('offline');
      if (!closed) retry = setTimeout(open, RETRY_MS);
    };
    for (const name of EVENTS) {
      source.addEventListener(name, (e) => {
        const data = JSON.parse(e.data);
        for (const fn of listeners) fn(name, data);
      });
    }
  };
  open();

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
