// What the client scripts share: where the gateway is, its key, and a
// GraphQL POST that returns the response body.
export const url = process.env.URL ?? 'http://127.0.0.1:8080/graphql';
export const key = process.env.KEY ?? '';
export const post = async (query, variables = {}) => {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({ query, variables }),
  });
  return r.json();
};
