export default function Services(_props: Record<string, unknown>) {
  return <h1>Services</h1>
}
