export default function TimeOff(_props: Record<string, unknown>) {
  return <h1>TimeOff</h1>
}
