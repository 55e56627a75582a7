import { Type, type Static } from '@sinclair/typebox';

/** One gateway process of several on one PostgreSQL database (extension). */
export const NodeView = Type.Object({
  id: Type.String({ description: 'WAGATE_NODE_ID' }),
  url: Type.String({ description: 'where the other nodes reach it (WAGATE_NODE_URL)' }),
  state: Type.Union([Type.Literal('up'), Type.Literal('leaving')]),
  live: Type.Boolean({ description: 'its heartbeat is within the lease TTL and it is not leaving' }),
  self: Type.Boolean({ description: 'the node that answered this request' }),
  started_at: Type.Integer({ description: 'unix milliseconds' }),
  heartbeat_at: Type.Integer({ description: "unix milliseconds, on the database's clock" }),
  heartbeat_age_ms: Type.Integer({ description: 'how long ago its last heartbeat was' }),
  channels: Type.Integer({ description: 'channels whose lease it holds: its load' }),
  by_status: Type.Record(Type.String(), Type.Integer(), { description: 'its channels by status' }),
  channel_ids: Type.Array(Type.String(), { description: 'the channels it runs' }),
});
export type NodeView = Static<typeof NodeView>;

export const NodeList = Type.Object({
  nodes: Type.Array(NodeView),
  total: Type.Integer(),
  /** Channels no live node holds right now (being placed or failing over). */
  unplaced: Type.Integer({ description: 'channels no node holds a lease on right now (being placed, or failing over)' }),
  lease_ttl_ms: Type.Integer(),
});
export type NodeList = Static<typeof NodeList>;
