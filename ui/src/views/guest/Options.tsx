// The Options tab of a guest: name/hostname, boot, protection, tags, notes and the rest.
import type { Resource } from '../../state';
import { ConfigTable } from './edit/ConfigTable';

export function GuestOptions({ guest }: { guest: Resource }) {
  return <ConfigTable guest={guest} sections={['options']} />;
}
