// The Hardware tab of a VM and the Resources tab of a CT (with its network devices).
import type { Resource } from '../../state';
import { ConfigTable } from './edit/ConfigTable';

export function GuestHardware({ guest }: { guest: Resource }) {
  return <ConfigTable guest={guest} sections={guest.type === 'qemu' ? ['hardware'] : ['hardware', 'network']} />;
}
