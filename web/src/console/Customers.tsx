export default function Customers(_props: Record<string, unknown>) {
  return <h1>Customers</h1>
}
