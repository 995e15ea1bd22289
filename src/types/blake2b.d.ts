/** The parts of the `blake2b` package (pure JS BLAKE2b, RFC 7693) the simulator uses. */
declare module "blake2b" {
  interface Blake2b {
    update(input: Uint8Array): Blake2b
    digest(out: "hex"): string
    digest(out?: "binary" | Uint8Array): Uint8Array
  }
  const blake2b: (outlen: number) => Blake2b
  export default blake2b
}
