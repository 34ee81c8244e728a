/** The node flags of a bench option's text (`--sut-node-args "A B"`): split at spaces, empty ones dropped. */
export function nodeFlagsOf(text: string | undefined): string[] {
  return (text ?? '').split(' ').filter((flag) => flag !== '');
}
