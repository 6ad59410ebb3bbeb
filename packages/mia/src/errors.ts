/** A membership-inference setup that cannot run as given; the message says what to change. */
export class MembershipError extends Error {
  override name = 'MembershipError';
}
