/** True for an IPv4 multicast address (224.0.0.0/4). */
export const isMulticast = (host: string): boolean => {
  const a = Number(host.split(".")[0]);
  return a >= 224 && a <= 239;
};
