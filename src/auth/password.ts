const encoder = new TextEncoder();

/**
 * Compares a presented password with the configured one in constant time.
 *
 * Both sides are hashed first so that the comparison always runs over 32
 * bytes: neither the position of the first difference nor the length of the
 * real password shows in the timing.
 *
 * @example
 * await passwordsMatch(form.password, env.BACKEND_PASSWORD); // true or false
 */
export async function passwordsMatch(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(presented), sha256(expected)]);
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}
