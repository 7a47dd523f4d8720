export default function Emails(_props: Record<string, unknown>) {
  return <h1>Emails</h1>
}
