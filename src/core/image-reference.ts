// An image reference as the container runtime reads it: [registry[:port]/]path[:tag][@sha256:digest].
// One definition for what may reach a pod spec (the Kubernetes executor's inputs) and what a person may
// ask for (`release start ... image=`), so a reference refused by one is refused by the other.

export const IMAGE_REFERENCE =
  /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/**
 * Whether `value` is an image reference a container runtime accepts (lower-case repository, tag of
 * at most 128 characters, optional sha256 digest).
 *
 * @example
 * isImageReference('registry.example.com/shop/checkout:2.4.0') // true
 * isImageReference('UPPER:Case!!') // false
 */
export function isImageReference(value: string): boolean {
  return value.length <= 512 && IMAGE_REFERENCE.test(value);
}
