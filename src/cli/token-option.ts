/** The environment variable that gives `list` and `unsubscribe` their token (the daemon reads it as http.token too). */
export const TOKEN_VARIABLE = 'PRESENCE_B2B_HTTP__TOKEN';

/** `--token`, else the environment's, with where it came from (for the hint when it is refused). */
export function tokenFrom(option: string | undefined, env: NodeJS.ProcessEnv): { token?: string; tokenSource?: 'option' | 'environment' } {
  if (option !== undefined) return { token: option, tokenSource: 'option' };
  const fromEnv = env[TOKEN_VARIABLE];
  return fromEnv === undefined || fromEnv === '' ? {} : { token: fromEnv, tokenSource: 'environment' };
}
