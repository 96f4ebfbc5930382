// The Liveblocks client's four resolvers, each one fetch to lbauthz on the
// page's own origin (nginx routes these paths to lbauthz, like the auth path):
// the browser sends the session cookie, and lbauthz answers from its
// directory. lbauthz answers null for an unknown id; the client wants
// undefined.
const ids = (name, values) => values.map((v) => `${name}=${encodeURIComponent(v)}`).join("&");
const get = async (url) => {
  const res = await fetch(url, { credentials: "same-origin" });
  if (!res.ok) throw new Error(`${url.split("?")[0]}: ${res.status}`);
  return res.json();
};
const orUndefined = (list) => list.map((x) => x ?? undefined);

export const resolvers = {
  resolveUsers: async ({ userIds }) => orUndefined(await get(`/api/liveblocks-users?${ids("userIds", userIds)}`)),
  resolveMentionSuggestions: ({ roomId, text }) =>
    get(`/api/liveblocks-mentions?roomId=${encodeURIComponent(roomId)}&text=${encodeURIComponent(text)}`),
  resolveGroupsInfo: async ({ groupIds }) => orUndefined(await get(`/api/liveblocks-groups?${ids("groupIds", groupIds)}`)),
  resolveRoomsInfo: async ({ roomIds }) => orUndefined(await get(`/api/liveblocks-rooms?${ids("roomIds", roomIds)}`)),
};
