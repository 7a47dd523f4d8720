export default function Reservations(_props: Record<string, unknown>) {
  return <h1>Reservations</h1>
}
